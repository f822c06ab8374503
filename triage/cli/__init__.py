"""The `triage` command. cli/main.py holds the group and the core pipeline commands (serve,
score-file, data prepare, train, export, evaluate); the other commands live one module per
command or group (admin: keys, db, purge, data export-feedback; annotations; casebook;
corumination; loso; rescore; webhooks), registered by main.py."""
