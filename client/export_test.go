package client

import "time"

// SetPoolClock makes c's pool measure ConnMaxIdleTime by now instead of
// time.Now, so that a test moves a fake clock past the limit rather than
// sleeping through it. Call it before c is used.
func SetPoolClock(c *Client, now func() time.Time) { c.pool.now = now }
