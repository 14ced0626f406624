"""``python -m sim``: the entry point users and scripts rely on. A thin launcher that hands over to the command
line (``cli``), the layer above the model; nothing else in ``sim`` imports from above."""

if __name__ == "__main__":
    from sim import early_stop

    early_stop.install()  # a stop while importing ends the command at once (until its own handlers take over)
    import gc

    # The imports make about a million objects that live as long as the process, and no garbage: the cyclic
    # collector would only walk them, again and again (about 0.3 s). Collect nothing while importing, then move
    # them out of the collector's sight for good (gc.freeze), so later collections look only at newer objects.
    gc.disable()
    from sim.speed import keep_freed_memory

    keep_freed_memory()  # large arrays reused from the heap, not mapped afresh each time (sim.speed.memory)
    from cli.main import main

    gc.freeze()
    gc.enable()
    main()
    # Done (the files are written and closed): exit without the collector walking everything once more on the
    # way out (about 0.3 s at interpreter shutdown)
    gc.freeze()
