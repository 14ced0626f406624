"""Launcher of the command ``python -m sim.trial`` (a virtual randomised trial of one programme), and nothing else:
the trial itself is the study code in ``experiments.trial``, which this hands over to. Kept here because users and
scripts run it by this name; no other module of ``sim`` imports from the studies above it."""

if __name__ == "__main__":
    from sim import early_stop

    early_stop.install()  # (until the command's own handlers take over)
    from experiments.trial import main

    main()
