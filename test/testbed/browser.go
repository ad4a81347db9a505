package testbed

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// chromiumInstalledBy is how a machine gets the browser: the Debian
// package, which hack/install-tools.sh installs.
const chromiumInstalledBy = "make tools (hack/install-tools.sh installs the Debian package chromium)"

// pageTimeout bounds one navigation, every redirect of a login included.
const pageTimeout = 20 * time.Second

// BrowserOptions say what a browser of a test reaches, on a machine
// whose network is closed.
type BrowserOptions struct {
	// Hosts maps a host:port as URLs name it to the loopback address that
	// serves it, for names no resolver knows (Chromium's
	// --host-resolver-rules, "MAP host:port address"). The browser still
	// sends the name as Host and as TLS server name, and cookies belong to
	// it.
	Hosts map[string]string
	// Pinned are the certificates, made by the test's own CAs, whose
	// verification errors the browser ignores: only these keys
	// (--ignore-certificate-errors-spki-list), not every certificate.
	Pinned []*x509.Certificate
}

// Browser is a headless Chromium driven over the DevTools protocol.
type Browser struct {
	ctx context.Context
	// Output is what Chromium printed.
	Output *SyncBuffer
}

// StartBrowser starts Chromium for the calling Ginkgo node and stops it
// when that node is done. It fails, naming the make target, when Chromium
// is not installed.
func StartBrowser(o BrowserOptions) *Browser {
	ginkgo.GinkgoHelper()
	bin, err := ChromiumPath()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	b := &Browser{Output: &SyncBuffer{}}

	var rules []string
	for from, to := range o.Hosts {
		rules = append(rules, "MAP "+from+" "+to)
	}
	sort.Strings(rules)
	var pins []string
	for _, c := range o.Pinned {
		pins = append(pins, SPKIPin(c))
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		// Tests run as root in containers, where Chromium's sandbox cannot
		// start.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// Chromium's own connections (updates, QUIC probes) fail noisily on
		// a closed network and add nothing.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// A profile of its own: no state of another run or of the user's.
		chromedp.UserDataDir(ginkgo.GinkgoT().TempDir()),
		chromedp.CombinedOutput(b.Output),
	)
	if len(rules) > 0 {
		opts = append(opts, chromedp.Flag("host-resolver-rules", strings.Join(rules, ",")))
	}
	if len(pins) > 0 {
		// Honoured only with --user-data-dir, which is set above.
		opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(pins, ",")))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ginkgo.DeferCleanup(cancelAlloc)
	ginkgo.DeferCleanup(cancel)
	// The first run starts the browser; users open browser contexts of
	// their own in it.
	gomega.Expect(chromedp.Do(ctx)).To(gomega.Succeed(), "starting Chromium:\n%s", b.Output)
	b.ctx = ctx
	return b
}

// ChromiumPath is the Chromium the tests drive.
func ChromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	return "", errors.New("chromium is needed: " + chromiumInstalledBy)
}

// SPKIPin is a certificate's key as --ignore-certificate-errors-spki-list
// takes it: the base64 SHA-256 of its SubjectPublicKeyInfo.
func SPKIPin(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// ServedCertificate is the certificate a TLS server at addr presents,
// verified against caPEM, for a browser to pin.
func ServedCertificate(addr string, caPEM []byte) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no CA certificate in the PEM")
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// BrowserUser is one user at the browser: a browser context of its own,
// like a private window, so no cookie of another user is sent.
type BrowserUser struct {
	ctx context.Context
}

// NewUser opens a fresh browser context, closed when the calling node is
// done.
func (b *Browser) NewUser() *BrowserUser {
	ginkgo.GinkgoHelper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	ginkgo.DeferCleanup(cancel)
	// The target lives as long as the context of its first run: this one,
	// not a page's shorter one.
	gomega.Expect(chromedp.Do(ctx)).To(gomega.Succeed(), "opening a browser context:\n%s", b.Output)
	// Chromium asks for /favicon.ico after a page loads. Behind a login
	// proxy that request, made without a session, starts a login of its
	// own at the issuer, which can take the user a later spec queued
	// there; no favicon is fetched at all.
	_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{
		URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/favicon.ico", Block: true}},
	})
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return &BrowserUser{ctx: ctx}
}

// Cookies are the cookies the browser holds for url.
func (u *BrowserUser) Cookies(url string) ([]*network.Cookie, error) {
	res, err := chromedp.Call(u.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		return nil, err
	}
	return res.Cookies, nil
}

// Page is what the browser ended on after a navigation and its redirects.
type Page struct {
	// Status is the HTTP status of the last document.
	Status int
	// URL is where the redirects ended.
	URL string
	// Text is the page's text as shown (document.body.innerText).
	Text string
}

// Open navigates to url, follows what the pages do (HTTP redirects, such
// as those of an OAuth login) and returns the page it ends on.
func (u *BrowserUser) Open(url string) (Page, error) {
	ctx, cancel := context.WithTimeout(u.ctx, pageTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		return Page{}, fmt.Errorf("opening %s: %w", url, err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return Page{}, fmt.Errorf("reading %s: %w", resp.URL, err)
	}
	return Page{Status: int(resp.Status), URL: resp.URL, Text: text}, nil
}
