"""Settings: the one reader every package and the CLI use (:func:`config.reader.read`)."""
