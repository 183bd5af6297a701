package integration

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// operatorPath is where the browser test serves the operator page.
const operatorPath = "/wc-webhooks-admin"

// chromiumPath is Debian's chromium, which .ci/test installs.
const chromiumPath = "/usr/bin/chromium"

// TestOperatorPageBrowser drives the operator page, served by Caddy over
// HTTPS, in headless chromium: the page lists the webhooks (hostile names
// escaped), a click pauses one (the API then shows it paused), a click
// redelivers a delivery (the receiver gets it again, with the same
// webhook-id), and the screenshots are real renderings.
func TestOperatorPageBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (apt-get install -y chromium; bash .ci/test installs it): %v", chromiumPath, err)
	}
	h := newHookEnv(t, dispatchBlock(true))
	// The harness's module block has no operator_path: add it and reload.
	opts := envOptions{Global: dispatchBlock(true)}
	cf := h.Caddyfile(opts)
	home := "\t\thome_url " + h.HTTPSBase + "\n"
	require.Contains(t, cf, home)
	h.Caddy.reload(strings.Replace(cf, home, home+"\t\toperator_path "+operatorPath+"\n", 1))

	sec := hookSecret{Stored: "operator-secret", Key: "operator-secret"}
	rcv := newHookReceiver(t, nil)
	other := newHookReceiver(t, nil)
	orders := h.CreateWebhook(t, `Orders <script>alert("x")</script>`, "order.created", rcv.URL, sec, "")
	products := h.CreateWebhook(t, "Products", "product.created", other.URL, sec, "")
	waitUntil(t, 20*time.Second, "the pings", func() bool { return len(rcv.Pings()) == 1 && len(other.Pings()) == 1 })
	time.Sleep(fanoutCacheWait)
	h.Publish(t, `{"topic":"order.created","resource_id":7,"payload":{"id":7}}`)
	waitUntil(t, 20*time.Second, "the order delivery", func() bool { return len(rcv.Deliveries()) == 1 })
	deliveryID := int64(0)
	waitUntil(t, 20*time.Second, "the delivery log", func() bool {
		for _, d := range h.Deliveries(t, deliveryRoutes[2], orders.ID) {
			if d.header("X-WC-Webhook-Topic") == "order.created" {
				deliveryID = d.ID
			}
		}
		return deliveryID != 0
	})

	dir := t.TempDir()
	phone, desktop := filepath.Join(dir, "phone.png"), filepath.Join(dir, "desktop.png")
	run := runScenario(t, "operator-page.mjs", map[string]string{
		"PAGE_URL": h.HTTPSBase + operatorPath + "/", "WC_CK": h.Key.CK, "WC_CS": h.Key.CS,
		"PAUSE_ID": fmt.Sprint(products.ID), "REDELIVER_WEBHOOK": fmt.Sprint(orders.ID),
		"REDELIVER_ID": fmt.Sprint(deliveryID), "SHOT_PHONE": phone, "SHOT_DESKTOP": desktop,
		"CHROMIUM": chromiumPath,
	})
	if s, ok := run.steps["error"]; ok {
		t.Fatalf("the browser scenario failed: %s", s.Error)
	}

	anon := run.step("anonymous")
	assert.Equal(t, 401, anon.Status)
	assert.Equal(t, `Basic realm="WooCommerce webhooks", charset="UTF-8"`, anon.Headers["www-authenticate"])

	type shown struct {
		ID         int64
		Status     string
		Name       string
		URL        string
		Deliveries []int64
	}
	var opened struct {
		Hooks []shown
		Title string
	}
	open := run.step("open")
	require.Equal(t, 200, open.Status)
	open.data(t, &opened)
	require.Len(t, opened.Hooks, 2)
	assert.Equal(t, orders.ID, opened.Hooks[0].ID)
	assert.Equal(t, `Orders <script>alert("x")</script> #`+fmt.Sprint(orders.ID), opened.Hooks[0].Name, "the hostile name shows as text")
	assert.Equal(t, rcv.URL, opened.Hooks[0].URL)
	assert.Contains(t, opened.Hooks[0].Deliveries, deliveryID)
	assert.Equal(t, "active", opened.Hooks[1].Status)

	var paused struct {
		Notice string
		Hooks  []shown
	}
	run.step("pause").data(t, &paused)
	assert.Equal(t, fmt.Sprintf("Webhook #%d paused.", products.ID), paused.Notice)
	assert.Equal(t, "paused", paused.Hooks[1].Status)
	assert.Equal(t, "paused", h.GetWebhook(t, products.ID).Status, "the API shows the webhook paused")
	assert.Equal(t, "active", h.GetWebhook(t, orders.ID).Status)

	var redelivered struct{ Notice string }
	run.step("redeliver").data(t, &redelivered)
	assert.Contains(t, redelivered.Notice, fmt.Sprintf("Delivery of webhook #%d queued again", orders.ID))
	waitUntil(t, 20*time.Second, "the redelivery", func() bool { return len(rcv.Deliveries()) == 2 })
	ds := rcv.Deliveries()
	assert.Equal(t, ds[0].Body, ds[1].Body, "the same body")
	assert.Equal(t, ds[0].Header.Get("webhook-id"), ds[1].Header.Get("webhook-id"), "the same webhook-id")

	var shot struct{ JSErrors []string }
	run.step("screenshot").data(t, &shot)
	assert.Empty(t, shot.JSErrors, "no script or CSP errors in the console")
	checkScreenshot(t, phone, 390)
	checkScreenshot(t, desktop, 1280)
	if out := os.Getenv("WCWH_SCREENSHOT_DIR"); out != "" {
		for _, f := range []string{phone, desktop} {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(out, "operator-"+filepath.Base(f)), b, 0o644))
		}
	}
}

// checkScreenshot checks a PNG is a real rendering: the viewport's width,
// a page taller than a few lines, and many distinct colours (a blank or
// error page has a handful).
func checkScreenshot(t *testing.T, path string, width int) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err, "screenshot %s", path)
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err, "screenshot %s is a PNG", path)
	bounds := img.Bounds()
	assert.Equal(t, width, bounds.Dx(), "%s width", path)
	assert.Greater(t, bounds.Dy(), 400, "%s height", path)
	assert.Greater(t, distinctColours(img), 64, "%s is not blank", path)
}

// distinctColours counts the distinct RGBA colours of img.
func distinctColours(img image.Image) int {
	seen := map[uint64]struct{}{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[uint64(r>>8)<<24|uint64(g>>8)<<16|uint64(bl>>8)<<8|uint64(a>>8)] = struct{}{}
		}
	}
	return len(seen)
}
