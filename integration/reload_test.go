package integration

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReloadUnderLoad reloads Caddy's config through the admin API several
// times while clients create webhooks: every create that is answered must
// be answered 201, and afterwards the store holds exactly the webhooks
// created, once each.
//
// Caddy itself may close a connection during a reload before the request
// is answered (this happens with a plain reverse_proxy site too, without
// the module). Such a create is settled after the load: if the webhook was
// stored it counts as created, otherwise it is sent again. Either way each
// name must then exist exactly once.
func TestReloadUnderLoad(t *testing.T) {
	const (
		workers      = 3
		perWorker    = 80
		reloads      = 4
		reloadEveryN = 40 // creates between reloads, counted over all workers
	)
	e := newEnv(t, envOptions{Extra: "header X-Config-Gen 0"})
	key := e.AddKey("read_write")
	hook := newReceiver(t)
	coll := e.HTTPSBase + "/wp-json/wc/v3/webhooks"

	var (
		mu       sync.Mutex
		done     int
		created  = map[int64]string{}
		failures []string
		unsure   []string // names whose create got no HTTP answer
		tick     = make(chan struct{}, workers*perWorker)
	)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := e.Client(w%2 == 0) // fresh connections for some workers, keep-alive for others
			for i := 0; i < perWorker; i++ {
				name := fmt.Sprintf("w%d-%03d", w, i)
				body := []byte(fmt.Sprintf(`{"name":%q,"topic":"coupon.created","delivery_url":%q}`, name, hook))
				r, err := tryDo(c, "POST", coll, body, basic(key))
				mu.Lock()
				switch {
				case err != nil:
					unsure = append(unsure, name)
				case r.Status != 201:
					failures = append(failures, fmt.Sprintf("%s: %d %s", name, r.Status, r.Body))
				default:
					var got restWebhook
					if jerr := jsonUnmarshal(r.Body, &got); jerr != nil || got.Name != name {
						failures = append(failures, fmt.Sprintf("%s: bad body %s", name, r.Body))
						break
					}
					if prev, dup := created[got.ID]; dup {
						failures = append(failures, fmt.Sprintf("%s: id %d already given to %s", name, got.ID, prev))
					}
					created[got.ID] = name
				}
				done++
				mu.Unlock()
				tick <- struct{}{}
			}
		}(w)
	}

	for gen := 1; gen <= reloads; gen++ {
		for k := 0; k < reloadEveryN; k++ {
			<-tick
		}
		e.Caddy.reload(e.Caddyfile(envOptions{Extra: fmt.Sprintf("header X-Config-Gen %d", gen)}))
		// A fresh connection made while Caddy hands its listeners over can be
		// reset (plain reverse_proxy does the same); only a GET is retried.
		var r response
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if r, err = tryDo(e.Client(true), "GET", e.HTTPBase+"/", nil, nil); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.NoError(t, err, "GET after reload %d", gen)
		assert.Equal(t, fmt.Sprint(gen), r.Header.Get("X-Config-Gen"), "reload %d took effect", gen)
	}
	wg.Wait()

	require.Empty(t, failures, "every create answered is answered 201")
	assert.Equal(t, workers*perWorker, done)
	t.Logf("%d of %d creates lost their connection during a reload", len(unsure), workers*perWorker)
	c := e.Client(false)
	for _, name := range unsure {
		r := do(t, c, "GET", coll+"?search="+name, nil, basic(key))
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var found []restWebhook
		r.JSON(t, &found)
		require.LessOrEqual(t, len(found), 1, "%s stored twice", name)
		if len(found) == 1 {
			created[found[0].ID] = name
			continue
		}
		body := []byte(fmt.Sprintf(`{"name":%q,"topic":"coupon.created","delivery_url":%q}`, name, hook))
		r = do(t, c, "POST", coll, body, basic(key))
		require.Equal(t, 201, r.Status, "%s", r.Body)
		var got restWebhook
		r.JSON(t, &got)
		created[got.ID] = name
	}
	assert.Len(t, created, workers*perWorker)

	// Everything created is stored, once.
	seen := map[int64]string{}
	for page := 1; ; page++ {
		r := do(t, c, "GET", fmt.Sprintf("%s?per_page=100&page=%d&orderby=id&order=asc", coll, page), nil, basic(key))
		require.Equal(t, 200, r.Status, "%s", r.Body)
		assert.Equal(t, fmt.Sprint(workers*perWorker), r.Header.Get("X-WP-Total"))
		var ws []restWebhook
		r.JSON(t, &ws)
		if len(ws) == 0 {
			break
		}
		for _, w := range ws {
			_, dup := seen[w.ID]
			assert.False(t, dup, "webhook %d listed twice", w.ID)
			seen[w.ID] = w.Name
		}
	}
	assert.Equal(t, created, seen, "stored webhooks = webhooks created")
}
