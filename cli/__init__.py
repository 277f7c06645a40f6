"""The ``tds`` command line: wiring and printing only; the work happens in chain/, gateway/, notary/, audit/."""
