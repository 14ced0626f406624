"""``python -m sim``: the entry point users and scripts rely on. A thin launcher that hands over to the command
line (``cli``), the layer above the model; nothing else in ``sim`` imports from above."""

if __name__ == "__main__":
    from cli.main import main

    main()
