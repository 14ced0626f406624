"""Launcher of the command ``python -m sim.gather`` (a finished sweep gathered into one table, figures and report),
and nothing else: the gathering is the study code in ``experiments.gather``, which this hands over to. Kept here
because users and scripts run it by this name; no other module of ``sim`` imports from the studies above it."""

if __name__ == "__main__":
    from sim import early_stop

    early_stop.install()  # (until the command's own handlers take over)
    from experiments.gather import main

    main()
