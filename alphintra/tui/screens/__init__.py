"""One module per screen; ``dialogs`` holds the modal ones."""
