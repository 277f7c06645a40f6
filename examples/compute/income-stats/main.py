"""Income statistics per person-record dataset: a clamped sum and a count, released through the
differential-privacy budget (the gateway adds Laplace noise scaled to the sensitivities declared in
tds-algorithm.json; this code sees the rows, the consumer only the noised totals).

Inside the sandbox: TDS_INPUT is the dataset (read-only), TDS_PARAMS a JSON file of the job's
parameters, TDS_OUTPUT where the result goes. No network, no environment, nothing else of the gateway.
"""

import csv
import json
import os

params = json.load(open(os.environ["TDS_PARAMS"]))
column = str(params.get("column", "income"))
clamp = float(params.get("clamp", 200000))  # must not exceed the sensitivity declared for "total"
region = params.get("region")

total = 0.0
count = 0
with open(os.environ["TDS_INPUT"], newline="") as fh:
    for row in csv.DictReader(fh):
        if region is not None and row.get("region") != region:
            continue
        total += min(max(float(row[column]), 0.0), min(clamp, 200000.0))
        count += 1

with open(os.environ["TDS_OUTPUT"], "w") as out:
    json.dump({"total": total, "count": count}, out)
