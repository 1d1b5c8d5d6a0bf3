"""SMART apps the cards open: the COWS form, whose static files are in cows/.

links.py decides when the form is on and which links a card carries to it; api/apps.py serves it.
"""
