"""mlgate's edges: the command line, GitHub events and the GitHub API.

Everything here turns an outside request into a call of the pure ``gates`` library and
publishes what it returns.
"""
