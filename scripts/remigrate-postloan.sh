#!/bin/sh
# Issue-5 development only: regenerate the initial migrations of servicing and monitoring from the models.
set -e
cd "$(dirname "$0")/.."
find src/lendcrm/servicing/migrations src/lendcrm/monitoring/migrations -name "0*.py" -delete
LENDCRM_DATABASE_URL=sqlite:////tmp/remigrate.sqlite3 .venv/bin/lendcrm makemigrations servicing monitoring
