"""The compliance engine: may this account be called on this phone now, and if not, when?"""
