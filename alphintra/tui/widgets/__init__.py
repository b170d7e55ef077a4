"""The panels the screens are made of; each redraws from the app's state when its kinds of data change."""
