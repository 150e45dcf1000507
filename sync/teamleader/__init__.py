"""The Teamleader adapter: the Focus API client with its rotating OAuth tokens and paging
(`client`), the rate limit it keeps (`limit`), and what registering a connection's webhooks
needs (`webhook_setup`)."""
