package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/pykv/pykv/internal/testdaemon"
)

// browserTimeout bounds the whole browser session: Chromium's start, the
// page, both calls and the screenshots take 10 to 20 s on 2 busy cores.
// stepTimeout bounds each group of steps, so that one that hangs (an
// element that never shows) fails with time left for a screenshot.
const (
	browserTimeout = 60 * time.Second
	stepTimeout    = 20 * time.Second
)

// TestSwaggerUITryItOut drives /docs in headless Chromium as a person
// would: against a pykvd with a password, it authorizes with the
// password as the bearer token, uses "Try it out" to PUT a key from a
// file and GET it back, and checks that the page loaded nothing from
// another origin and broke no rule of its Content-Security-Policy. It
// saves a screenshot in the test's temporary directory and, when
// PYKV_SCREENSHOT_DIR is set, there too.
func TestSwaggerUITryItOut(t *testing.T) {
	t.Parallel()
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Skipf("chromium is not installed (make deps installs it when root; apt-get install -y chromium): %v", err)
	}
	const password = "swagger-s3cret"
	httpAddr := freeAddr(t)
	testdaemon.Start(t, testdaemon.Options{Password: password, Args: []string{"--http-addr", httpAddr}})
	origin := "http://" + httpAddr
	shotDir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	// Cancelling the allocator's context kills Chromium and waits for it.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	defer cancelBrowser()

	// Every request the page makes, recorded until the browser closes.
	requests := chromedp.Events(browser, network.RequestWillBeSent)
	requested := make(chan []string, 1)
	if err := chromedp.Do(browser, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{})
		return err
	})); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	go func() {
		var urls []string
		for ev, err := range requests {
			if err != nil {
				break
			}
			urls = append(urls, ev.Request.URL)
		}
		requested <- urls
	}()

	value := "hello from Swagger UI " + time.Now().Format(time.RFC3339Nano)
	valueFile := filepath.Join(t.TempDir(), "value.txt")
	if err := os.WriteFile(valueFile, []byte(value), 0o644); err != nil {
		t.Fatal(err)
	}
	const key = "swagger/greeting"
	put, get := "#operations-keys-putKey", "#operations-keys-getKey"
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	// A step that fails leaves the rest of browserTimeout for a
	// screenshot of the page as it is and what its policy refused.
	fail := func(format string, args ...any) {
		t.Helper()
		shoot(t, browser, shotDir)
		if v, err := chromedp.Run(browser, chromedp.Evaluate[[]string](`window.__violations`)); err == nil && len(v) > 0 {
			t.Errorf("the page broke its Content-Security-Policy: %q", v)
		}
		t.Fatalf(format, args...)
	}
	text := func(sel string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, stepTimeout)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			fail("read %s: %v", sel, err)
		}
		return s
	}
	steps := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, stepTimeout)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			fail("%s: %v", what, err)
		}
	}

	steps("open /docs",
		// Before any script of the page runs: record what its policy
		// refuses.
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `window.__violations = [];
					document.addEventListener('securitypolicyviolation',
						e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));`})
			return err
		}),
		chromedp.Navigate(origin+"/docs"),
		chromedp.WaitVisible(css(put)),
	)
	steps("authorize with the password",
		chromedp.Click(css(`.auth-wrapper button.authorize`)),
		chromedp.SendKeys(css(`.auth-container input`), password),
		chromedp.Click(css(`.auth-btn-wrapper button.authorize`)),
		chromedp.Click(css(`.auth-btn-wrapper button.btn-done`)),
	)
	steps("PUT /v1/keys/{key} from a file",
		chromedp.Click(css(put+` .opblock-summary-control`)),
		chromedp.Click(css(put+` button.try-out__btn`)),
		chromedp.SendKeys(css(put+` tr[data-param-name="key"] input`), key),
		chromedp.SetUploadFiles(css(put+` input[type="file"]`), []string{valueFile}),
		chromedp.Click(css(put+` button.execute`)),
	)
	putStatus := text(put + ` .live-responses-table tr.response .response-col_status`)
	putBody := text(put + ` .live-responses-table tr.response .response-col_description pre`)
	steps("GET /v1/keys/{key}",
		chromedp.Click(css(get+` .opblock-summary-control`)),
		chromedp.Click(css(get+` button.try-out__btn`)),
		chromedp.SendKeys(css(get+` tr[data-param-name="key"] input`), key),
		chromedp.Click(css(get+` button.execute`)),
	)
	getStatus := text(get + ` .live-responses-table tr.response .response-col_status`)
	getResponse := text(get + ` .live-responses-table`)
	curl := text(get + ` .curl`)
	violations, err := chromedp.Run(browser, chromedp.Evaluate[[]string](`window.__violations`))
	if err != nil {
		t.Fatal(err)
	}
	// Authorize keeps the password in the page's memory, not in the
	// browser's storage (persistAuthorization off).
	stored, err := chromedp.Run(browser, chromedp.Evaluate[string](
		`JSON.stringify([Object.assign({}, localStorage), Object.assign({}, sessionStorage), document.cookie])`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, password) {
		t.Errorf("the page stored the password: %s", stored)
	}
	shoot(t, browser, shotDir)
	// Each call's block alone, and the top of the page (the description
	// and Authorize), readable at full size.
	for name, sel := range map[string]string{"swagger-ui-put.png": put, "swagger-ui-get.png": get,
		"swagger-ui-top.png": ".swagger-ui .information-container"} {
		if png, err := chromedp.Run(browser, chromedp.Screenshot(css(sel))); err == nil {
			saveScreenshot(t, shotDir, name, png)
		} else {
			t.Logf("screenshot of %s: %v", sel, err)
		}
	}

	if strings.TrimSpace(putStatus) != "200" || !strings.Contains(putBody, `"ok": true`) {
		t.Errorf("PUT through Try it out: status %q, body %q; want 200 {\"ok\": true}", putStatus, putBody)
	}
	if strings.TrimSpace(getStatus) != "200" || !strings.Contains(getResponse, "content-type: application/octet-stream") ||
		!strings.Contains(getResponse, fmt.Sprintf("content-length: %d ", len(value))) {
		t.Errorf("GET through Try it out: status %q, response %q", getStatus, getResponse)
	}
	if !strings.Contains(curl, "Authorization: Bearer "+password) {
		t.Errorf("the GET was not sent with the bearer token; its curl line: %q", curl)
	}
	// What the page wrote is what the daemon holds.
	req, err := http.NewRequest("GET", origin+"/v1/keys/"+url.PathEscape(key), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(got) != value {
		t.Errorf("GET %s after the page's PUT: %d %q (%v), want %q", key, resp.StatusCode, got, err, value)
	}

	if len(violations) > 0 {
		t.Errorf("the page broke its Content-Security-Policy: %q", violations)
	}
	cancelBrowser() // ends the recording of requests
	urls := <-requested
	for _, u := range urls {
		if !strings.HasPrefix(u, origin+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s, off its origin", u)
		}
	}
	if len(urls) < 5 {
		t.Errorf("the page made %d requests, want at least the page, its assets, the document and two calls: %q",
			len(urls), urls)
	}
}

// shoot saves a screenshot of the whole page, as the test ends or fails.
func shoot(t *testing.T, browser context.Context, dir string) {
	t.Helper()
	png, err := chromedp.Run(browser, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	saveScreenshot(t, dir, "swagger-ui.png", png)
}

// saveScreenshot writes a screenshot as name in dir and, when
// PYKV_SCREENSHOT_DIR is set, there too.
func saveScreenshot(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	dirs := []string{dir}
	if d := os.Getenv("PYKV_SCREENSHOT_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Errorf("screenshot: %v", err)
			continue
		}
		t.Logf("screenshot: %s", p)
	}
}
