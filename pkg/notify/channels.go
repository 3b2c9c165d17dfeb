package notify

// Channels is a sink that can post to channels other than its own (the Slack bot), for routing
// by severity and category (slack.channels).
type Channels interface {
	Sink
	// In is the sink posting to channel; updates and replies go where the message is anyway.
	In(channel string) Sink
}

var _ Channels = (*Bot)(nil)

// In is a Bot posting to channel, sharing this one's client and settings.
func (b *Bot) In(channel string) Sink {
	c := *b
	c.channel = channel
	return &c
}
