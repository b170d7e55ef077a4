def test_venue_key_variables_and_the_passphrase_are_not_unknown_settings(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from alphintra.config.settings import check_environment

    check_environment(
        {"ALPHINTRA_VENUE_FAKE_1_API_KEY": "k", "ALPHINTRA_VENUE_FAKE_1_API_SECRET": "s", "ALPHINTRA_PASSPHRASE": "p"}
    )
