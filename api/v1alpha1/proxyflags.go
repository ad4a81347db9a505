package v1alpha1

import (
	"regexp"
	"strings"
)

// spec.proxy.extraArgs is checked against an allow list rather than a deny
// list: oauth-proxy's flags change from release to release, and any flag
// left off a deny list would be a way around the proxy. The CEL rules of
// ProxyExtraArgs are generated from the two lists below (go run
// ./hack/rulegen writes zz_generated.extraargs.go), and the tests check both
// lists against the flags of the oauth-proxy release DefaultProxyImage is
// built from (testdata/oauth-proxy-release-4.18-flags.txt).

// ProxyFlagKind is how an oauth-proxy flag takes its value.
type ProxyFlagKind string

const (
	// ProxyFlagBool is a boolean flag, given as -name, -name=true or
	// -name=false. A value in a separate argument is not a value for Go's
	// flag package: it ends the flags.
	ProxyFlagBool ProxyFlagKind = "bool"
	// ProxyFlagDuration takes a Go duration, given as -name=30s. Without
	// "=" Go's flag package would take the next argument as the value.
	ProxyFlagDuration ProxyFlagKind = "duration"
)

// DurationValuePattern is the RE2 a duration flag's value must match: a
// subset of what time.ParseDuration accepts (no sign, no fraction without
// digits before it), so that a value the API server accepts never stops the
// proxy from starting.
const DurationValuePattern = `(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)`

// ProxyFlag is an oauth-proxy flag spec.proxy.extraArgs may set.
// +kubebuilder:object:generate=false
type ProxyFlag struct {
	// Name without the leading dash.
	Name string
	Kind ProxyFlagKind
}

// AllowedProxyFlags are the only flags spec.proxy.extraArgs may set. Each
// one tunes how requests that already passed authentication are carried to
// and from Kiali; none changes who gets through, what is authorized, the
// session cookie, the request log, where users are redirected, TLS, the
// upstream, the pages the proxy serves, the files it reads or whom it
// trusts. Every other flag is either managed by the operator
// (ManagedProxyFlags, refused with the field to use instead) or can weaken
// the proxy, for example -footer, whose text oauth-proxy puts unescaped
// into its sign-in page, and -pass-host-header, which decides the Host
// header of the request to Kiali, by which the mesh routes that request.
var AllowedProxyFlags = []ProxyFlag{
	// WebSocket upgrades pass the same authentication as any request and
	// go to the same upstream, trusting the same CA; this only picks which
	// of oauth-proxy's reverse proxies carries them.
	{Name: "proxy-websockets", Kind: ProxyFlagBool},
	// Puts the signed-in user's name in the response to that same user
	// (X-Auth-Request-User); nothing more reaches Kiali or anyone else.
	{Name: "set-xauthrequest", Kind: ProxyFlagBool},
	// How often a streamed response from Kiali is flushed to the browser.
	{Name: "upstream-flush", Kind: ProxyFlagDuration},
	// How long the proxy waits for Kiali's response headers, for consoles
	// whose graph queries are slow.
	{Name: "upstream-timeout", Kind: ProxyFlagDuration},
}

// ManagedProxyFlag is an oauth-proxy flag the operator decides, refused in
// spec.proxy.extraArgs with a message saying what to use instead.
// +kubebuilder:object:generate=false
type ManagedProxyFlag struct {
	// Name without the leading dash.
	Name string
	// Field is the spec field that decides the flag, empty when the
	// operator alone does.
	Field string
	// Instead ends the refusal message "spec.proxy.extraArgs must not set
	// -<name>: <Instead>"; it names Field. Flags with the same Instead share
	// one rule and one message.
	Instead string
	// Always is set for a flag the operator puts on every proxy command
	// line, exactly once, whatever the spec says: without it the proxy would
	// listen, forward, authorize, keep its cookie or log other than the
	// operator intends. The other flags are rendered for some specs only
	// (TLS, htpasswd) or never (the operator relies on oauth-proxy's
	// default, or on the flag being absent); each appears at most once.
	// internal/render's tests check the renderer against it.
	Always bool
}

const (
	insteadOpenShiftLogin = "the operator sets up OpenShift login itself (provider, the proxy's ServiceAccount as OAuth client, the OpenShift API's CA, every user on to the SubjectAccessReviews)"
	insteadPlumbing       = "the operator sets the listener, the upstream (Kiali, trusting the service CA) and the /oauth paths its probes and the OAuth callback use"
	insteadTLS            = "use spec.proxy.tls"
	insteadSAR            = "use spec.proxy.subjectAccessReviews"
	insteadSessionSecret  = "use spec.proxy.sessionSecret"
	insteadCookieExpire   = "use spec.proxy.cookie.expire"
	insteadCookieRefresh  = "oauth-proxy cannot validate an OpenShift token again, so every session would end at its first refresh; bound sessions with spec.proxy.cookie.expire"
	insteadCookie         = "the operator keeps the session cookie host-only, Secure, HttpOnly and SameSite=Lax under oauth-proxy's own name"
	insteadHtpasswd       = "use spec.proxy.htpasswd"
	insteadProviderButton = "the operator skips the sign-in page when OpenShift login is the only way in, that is without spec.proxy.htpasswd"
	insteadRequestLogging = "use spec.proxy.requestLogging"
	insteadPassBasicAuth  = "it decides whether an htpasswd user's password is forwarded to Kiali"
	insteadRedirect       = "the OAuth redirect goes back to spec.exposure.host"
)

// ManagedProxyFlags are the oauth-proxy flags the operator renders or
// decides from the spec. Every flag the operator renders must be one of
// them, and so never one of AllowedProxyFlags: Go's flag package lets the
// last occurrence of a flag win, so a rendered flag that extraArgs could
// also set would be the user's to decide. internal/render's tests check
// every flag its command lines hold against this list.
var ManagedProxyFlags = []ManagedProxyFlag{
	{Name: "provider", Instead: insteadOpenShiftLogin, Always: true},
	{Name: "openshift-service-account", Instead: insteadOpenShiftLogin, Always: true},
	{Name: "client-id", Instead: insteadOpenShiftLogin},
	{Name: "client-secret", Instead: insteadOpenShiftLogin},
	{Name: "client-secret-file", Instead: insteadOpenShiftLogin},
	{Name: "openshift-ca", Instead: insteadOpenShiftLogin, Always: true},
	{Name: "email-domain", Instead: insteadOpenShiftLogin, Always: true},

	{Name: "http-address", Instead: insteadPlumbing, Always: true},
	{Name: "upstream", Instead: insteadPlumbing, Always: true},
	{Name: "upstream-ca", Instead: insteadPlumbing, Always: true},
	{Name: "proxy-prefix", Instead: insteadPlumbing},

	{Name: "https-address", Field: "spec.proxy.tls", Instead: insteadTLS, Always: true},
	{Name: "tls-cert", Field: "spec.proxy.tls", Instead: insteadTLS},
	{Name: "tls-key", Field: "spec.proxy.tls", Instead: insteadTLS},

	{Name: "openshift-sar", Field: "spec.proxy.subjectAccessReviews", Instead: insteadSAR, Always: true},
	{Name: "openshift-sar-by-host", Field: "spec.proxy.subjectAccessReviews", Instead: insteadSAR},
	{Name: "openshift-group", Field: "spec.proxy.subjectAccessReviews", Instead: insteadSAR},

	{Name: "cookie-secret", Field: "spec.proxy.sessionSecret", Instead: insteadSessionSecret},
	{Name: "cookie-secret-file", Field: "spec.proxy.sessionSecret", Instead: insteadSessionSecret, Always: true},
	{Name: "cookie-expire", Field: "spec.proxy.cookie.expire", Instead: insteadCookieExpire, Always: true},
	{Name: "cookie-refresh", Field: "spec.proxy.cookie.expire", Instead: insteadCookieRefresh},
	{Name: "cookie-name", Instead: insteadCookie},
	{Name: "cookie-domain", Instead: insteadCookie},
	{Name: "cookie-secure", Instead: insteadCookie, Always: true},
	{Name: "cookie-httponly", Instead: insteadCookie},
	{Name: "cookie-samesite", Instead: insteadCookie, Always: true},

	{Name: "htpasswd-file", Field: "spec.proxy.htpasswd", Instead: insteadHtpasswd},
	{Name: "display-htpasswd-form", Field: "spec.proxy.htpasswd", Instead: insteadHtpasswd},
	{Name: "skip-provider-button", Field: "spec.proxy.htpasswd", Instead: insteadProviderButton},
	{Name: "pass-basic-auth", Instead: insteadPassBasicAuth},

	{Name: "request-logging", Field: "spec.proxy.requestLogging", Instead: insteadRequestLogging, Always: true},

	{Name: "redirect-url", Field: "spec.exposure.host", Instead: insteadRedirect},
}

// ExtraArgsRule is one CEL rule on each item of spec.proxy.extraArgs.
// +kubebuilder:object:generate=false
type ExtraArgsRule struct {
	Rule    string
	Message string
}

// ExtraArgsRules are the CEL rules, derived from AllowedProxyFlags and
// ManagedProxyFlags, that each item of spec.proxy.extraArgs must pass.
// They are written to zz_generated.extraargs.go as markers of
// ProxyExtraArgs. The rules apply to each item, so a refusal names the
// item, and their cost is that of one string of at most 1024 characters.
func ExtraArgsRules() []ExtraArgsRule {
	boolFlags, durationFlags := allowedFlagNames()
	var described []string
	if len(boolFlags) > 0 {
		described = append(described, dashed(boolFlags, ",")+" (as -name, -name=true or -name=false)")
	}
	if len(durationFlags) > 0 {
		described = append(described, dashed(durationFlags, ",")+" (as -name=<duration>, such as -"+durationFlags[len(durationFlags)-1]+"=2m)")
	}
	rules := []ExtraArgsRule{{
		Rule:    "self.matches('" + allowPattern() + "')",
		Message: "spec.proxy.extraArgs may only set " + strings.Join(described, ", ") + ": the operator manages the other oauth-proxy flags, or they can weaken authentication",
	}}
	if len(durationFlags) > 0 {
		rules = append(rules, ExtraArgsRule{
			Rule:    "!self.matches('^--?(" + strings.Join(durationFlags, "|") + ")$')",
			Message: "spec.proxy.extraArgs must give the value of " + dashed(durationFlags, "or") + " after =, as in -" + durationFlags[len(durationFlags)-1] + "=2m: Go's flag parsing would take the next argument as the value",
		})
	}
	var order []string
	groups := map[string][]string{}
	for _, f := range ManagedProxyFlags {
		if _, seen := groups[f.Instead]; !seen {
			order = append(order, f.Instead)
		}
		groups[f.Instead] = append(groups[f.Instead], f.Name)
	}
	for _, instead := range order {
		names := groups[instead]
		rules = append(rules, ExtraArgsRule{
			Rule:    "!self.matches('^--?(" + strings.Join(names, "|") + ")(=|$)')",
			Message: "spec.proxy.extraArgs must not set " + dashed(names, "or") + ": " + instead,
		})
	}
	return rules
}

// allowedFlagNames splits AllowedProxyFlags by how they take a value.
func allowedFlagNames() (boolFlags, durationFlags []string) {
	for _, f := range AllowedProxyFlags {
		switch f.Kind {
		case ProxyFlagBool:
			boolFlags = append(boolFlags, f.Name)
		case ProxyFlagDuration:
			durationFlags = append(durationFlags, f.Name)
		}
	}
	return boolFlags, durationFlags
}

// allowPattern is the RE2 an allowed item matches: one of the allowed flags
// in one of its forms.
func allowPattern() string {
	boolFlags, durationFlags := allowedFlagNames()
	var forms []string
	if len(boolFlags) > 0 {
		forms = append(forms, "("+strings.Join(boolFlags, "|")+")(=(true|false))?")
	}
	if len(durationFlags) > 0 {
		forms = append(forms, "("+strings.Join(durationFlags, "|")+")="+DurationValuePattern)
	}
	return "^--?(" + strings.Join(forms, "|") + ")$"
}

// allowedExtraArg is the allow rule as a Go regexp: CEL's matches() and Go's
// regexp are both RE2, so the two accept the same arguments.
var allowedExtraArg = regexp.MustCompile(allowPattern())

// ExtraArgAllowed reports whether one item of spec.proxy.extraArgs passes
// the allow rule. The renderer checks it too: an object stored before the
// rule existed may hold any flag.
func ExtraArgAllowed(arg string) bool {
	return allowedExtraArg.MatchString(arg)
}

// dashed lists flag names as "-a, -b or -c" (conjunction "or"), or as
// "-a, -b, -c" (conjunction ",").
func dashed(names []string, conjunction string) string {
	d := make([]string, len(names))
	for i, n := range names {
		d[i] = "-" + n
	}
	if len(d) == 1 || conjunction == "," {
		return strings.Join(d, ", ")
	}
	return strings.Join(d[:len(d)-1], ", ") + " " + conjunction + " " + d[len(d)-1]
}
