"""The Mastodon client API and OAuth 2."""
