"""``python -m sim.gather``: gather a sweep (kept as a command users rely on; the code is ``experiments.gather``).
A thin launcher: nothing else in ``sim`` imports from the studies above it."""

if __name__ == "__main__":
    from sim import early_stop

    early_stop.install()  # (until the command's own handlers take over)
    from experiments.gather import main

    main()
