"""``python -m sim.trial``: a virtual trial (kept as a command users rely on; the code is ``experiments.trial``).
A thin launcher: nothing else in ``sim`` imports from the studies above it."""

if __name__ == "__main__":
    from experiments.trial import main

    main()
