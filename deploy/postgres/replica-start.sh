#!/bin/bash
# A hot standby: clone the primary once (pg_basebackup -R writes the standby settings),
# then run; the primary's WAL streams in from then on.
set -euo pipefail
export PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup --host=db --username=replicator --pgdata="$PGDATA" \
        --wal-method=stream --write-recovery-conf --progress; do
    echo "waiting for the primary ..."; sleep 2
  done
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
