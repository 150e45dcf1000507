"""Local servers that speak the Teamleader Focus, Google People and Secret Manager APIs.

They exist so that the product can be tried and tested without live accounts, and they
reproduce on purpose the behaviours of the real APIs that break naive syncs.
"""
