"""The CDS committee's report (design section 10): `withdrawal-cds report --html FILE` and `--csv DIR`.

figures.py reads the counts and the card log; small.py is the rule for small counts; html.py and
csv_files.py write them, charts.py draws the HTML's charts as static SVG.
"""
