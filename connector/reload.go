package connector

// ReloadToken makes the Client read its token from the TokenStore again
// before the next request: the runtime calls it after `onedrive-agent login`
// saved a new sign-in while the agent runs. A token not yet saved is dropped;
// the new sign-in replaces it.
func (c *Client) ReloadToken() {
	s := c.tokens
	s.mu.Lock()
	s.loaded, s.cur, s.unsaved = false, nil, false
	s.mu.Unlock()
}
