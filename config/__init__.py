"""Settings: the one reader every package and the CLI use (:func:`config.reader.read`); the schema migration
runner of the gateway database and the audit index (:func:`config.schema.upgrade`)."""
