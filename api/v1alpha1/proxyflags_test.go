package v1alpha1

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/validate"
)

// releaseFlag is one line of the release's flag list.
type releaseFlag struct {
	kind string // bool or value
	typ  string // bool, string, duration or list
}

const releaseFlagsFile = "oauth-proxy-release-4.18-flags.txt"

// releaseFlags reads the flags of the oauth-proxy release DefaultProxyImage
// is built from.
func releaseFlags(t *testing.T) map[string]releaseFlag {
	t.Helper()
	if !strings.HasSuffix(DefaultProxyImage, ":4.18") {
		t.Fatalf("DefaultProxyImage is %s: check the flag lists against that release's flags and replace testdata/%s", DefaultProxyImage, releaseFlagsFile)
	}
	f, err := os.Open(filepath.Join("testdata", releaseFlagsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags := map[string]releaseFlag{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 4 {
			t.Fatalf("bad line %q", line)
		}
		if _, dup := flags[fields[0]]; dup {
			t.Fatalf("flag %s listed twice", fields[0])
		}
		flags[fields[0]] = releaseFlag{kind: fields[1], typ: fields[2]}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(flags) < 50 {
		t.Fatalf("only %d flags read", len(flags))
	}
	return flags
}

// releaseFlagSet defines the release's flags the way oauth-proxy does, with
// Go's flag package, so that arguments can be parsed as the proxy would.
func releaseFlagSet(t *testing.T) *flag.FlagSet {
	fs := flag.NewFlagSet("oauth-proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for name, f := range releaseFlags(t) {
		switch f.typ {
		case "bool":
			fs.Bool(name, false, "")
		case "string":
			fs.String(name, "", "")
		case "duration":
			fs.Duration(name, 0, "")
		case "list":
			fs.Var(&listValue{}, name, "")
		default:
			t.Fatalf("flag %s has type %q", name, f.typ)
		}
	}
	return fs
}

type listValue []string

func (l *listValue) String() string     { return strings.Join(*l, ",") }
func (l *listValue) Set(v string) error { *l = append(*l, v); return nil }

func allowed(name string) (ProxyFlag, bool) {
	for _, f := range AllowedProxyFlags {
		if f.Name == name {
			return f, true
		}
	}
	return ProxyFlag{}, false
}

func managed(name string) (ManagedProxyFlag, bool) {
	for _, f := range ManagedProxyFlags {
		if f.Name == name {
			return f, true
		}
	}
	return ManagedProxyFlag{}, false
}

// extraArgsErrors validates a minimal KialiAuthProxy with the given
// extraArgs against the CRD's schema and CEL rules and returns the messages.
func extraArgsErrors(t *testing.T, args ...string) []string {
	t.Helper()
	items := make([]any, len(args))
	for i, a := range args {
		items[i] = a
	}
	return specErrors(t, "proxy", map[string]any{"extraArgs": items})
}

// specErrors validates a minimal KialiAuthProxy whose spec has field set
// to value (beside the exposure every spec needs) against the CRD's schema
// and CEL rules, as the API server would, and returns the messages.
func specErrors(t *testing.T, field string, value map[string]any) []string {
	t.Helper()
	obj := map[string]any{
		"apiVersion": "mesh.kialiauth.io/v1alpha1",
		"kind":       "KialiAuthProxy",
		"metadata":   map[string]any{"name": "kiali", "namespace": "istio-system"},
		"spec": map[string]any{
			"exposure": map[string]any{"host": "kiali.example.com", "route": map[string]any{}},
			field:      value,
		},
	}
	errs, err := validate.Object(context.Background(), obj)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return msgs
}

func TestAllowedFlagsAreFlagsOfTheRelease(t *testing.T) {
	release := releaseFlags(t)
	for _, f := range AllowedProxyFlags {
		r, ok := release[f.Name]
		switch {
		case !ok:
			t.Errorf("allowed flag -%s is not a flag of the release", f.Name)
		case f.Kind == ProxyFlagBool && r.kind != "bool":
			t.Errorf("allowed flag -%s is a bool in the list but a %s flag in the release", f.Name, r.typ)
		case f.Kind == ProxyFlagDuration && (r.kind != "value" || r.typ != "duration"):
			t.Errorf("allowed flag -%s is a duration in the list but a %s flag in the release", f.Name, r.typ)
		}
		if _, ok := managed(f.Name); ok {
			t.Errorf("-%s is both allowed and managed", f.Name)
		}
	}
}

// A managed flag the release does not have would be a message about
// nothing, and hints that the release changed under the lists.
func TestManagedFlagsAreFlagsOfTheRelease(t *testing.T) {
	release := releaseFlags(t)
	for _, f := range ManagedProxyFlags {
		if _, ok := release[f.Name]; !ok {
			t.Errorf("managed flag -%s is not a flag of the release", f.Name)
		}
		if f.Field != "" && !strings.Contains(f.Instead, f.Field) {
			t.Errorf("the message for -%s does not name %s", f.Name, f.Field)
		}
	}
}

// Every flag of the release that is not allowed is refused, whatever its
// form, and a managed flag's refusal names the field to use instead.
func TestReleaseFlagsNotAllowedAreRefused(t *testing.T) {
	for name, r := range releaseFlags(t) {
		if _, ok := allowed(name); ok {
			continue
		}
		forms := []string{"-" + name, "--" + name, "-" + name + "=x", "--" + name + "=x"}
		if r.kind == "bool" {
			forms = append(forms, "-"+name+"=true", "-"+name+"=false")
		}
		for _, arg := range forms {
			msgs := extraArgsErrors(t, arg)
			if len(msgs) == 0 {
				t.Errorf("%s is accepted", arg)
				continue
			}
			joined := strings.Join(msgs, "\n")
			if !strings.Contains(joined, "spec.proxy.extraArgs[0]") {
				t.Errorf("%s: the refusal does not name the item: %s", arg, joined)
			}
			if m, ok := managed(name); ok {
				if !strings.Contains(joined, "must not set ") || !strings.Contains(joined, m.Instead) {
					t.Errorf("%s: the refusal does not say %q: %s", arg, m.Instead, joined)
				}
				if m.Field != "" && !strings.Contains(joined, m.Field) {
					t.Errorf("%s: the refusal does not name %s: %s", arg, m.Field, joined)
				}
			}
		}
	}
}

// The ways around the proxy found against the previous deny list.
func TestIssueExamplesAreRefused(t *testing.T) {
	for _, arg := range []string{
		"-config=/etc/proxy/htpasswd/htpasswd",
		"-cookie-domain=.example.com",
		"-proxy-prefix=/x",
		"-redirect-url=https://evil",
		"-tls-client-ca=/x",
		"-custom-templates-dir=/x",
		"-request-logging=false",
		"-request-logging-format=x",
		"-skip-auth-regex=.*",
		"--bypass-auth-for=^/",
		"-footer=<script>alert(1)</script>",
		"-pass-host-header=false",
		"-logout-url=https://evil",
		"-help",
		"-h",
	} {
		if msgs := extraArgsErrors(t, arg); len(msgs) == 0 {
			t.Errorf("%s is accepted", arg)
		}
	}
	for arg, want := range map[string]string{
		"-cookie-domain=.example.com": "the operator keeps the session cookie host-only",
		"-redirect-url=https://evil":  "spec.exposure.host",
		"-request-logging=false":      "spec.proxy.requestLogging",
		"-proxy-prefix=/x":            "the /oauth paths",
		"-cookie-expire=720h":         "spec.proxy.cookie.expire",
		"-htpasswd-file=/x":           "spec.proxy.htpasswd",
		"-openshift-sar=[]":           "spec.proxy.subjectAccessReviews",
		"-tls-cert=/x":                "spec.proxy.tls",
		"-skip-provider-button":       "spec.proxy.htpasswd",
		"-cookie-secret-file=/x":      "spec.proxy.sessionSecret",
	} {
		if joined := strings.Join(extraArgsErrors(t, arg), "\n"); !strings.Contains(joined, want) {
			t.Errorf("%s: the refusal does not say %q: %s", arg, want, joined)
		}
	}
}

// allowedForms are the forms the CRD must accept for an allowed flag.
func allowedForms(f ProxyFlag) []string {
	switch f.Kind {
	case ProxyFlagBool:
		return []string{"-" + f.Name, "--" + f.Name, "-" + f.Name + "=true", "-" + f.Name + "=false", "--" + f.Name + "=false"}
	case ProxyFlagDuration:
		return []string{"-" + f.Name + "=30s", "--" + f.Name + "=1m30s", "-" + f.Name + "=0", "-" + f.Name + "=1.5h", "-" + f.Name + "=250ms", "-" + f.Name + "=100us"}
	}
	return nil
}

// refusedForms are forms of an allowed flag the CRD must refuse: values a
// bool flag would read differently or not at all, durations Go would not
// parse or oauth-proxy should not get, and a value flag without "=".
func refusedForms(f ProxyFlag) []string {
	switch f.Kind {
	case ProxyFlagBool:
		return []string{"-" + f.Name + "=1", "-" + f.Name + "=TRUE", "-" + f.Name + "=yes", "-" + f.Name + "=", "-" + f.Name + "x", "---" + f.Name}
	case ProxyFlagDuration:
		return []string{"-" + f.Name, "--" + f.Name, "-" + f.Name + "=", "-" + f.Name + "=30", "-" + f.Name + "=-1s", "-" + f.Name + "=1d", "-" + f.Name + "=.5s", "-" + f.Name + "=30s ", "-" + f.Name + "=30s,-config=/x"}
	}
	return nil
}

func TestAllowedFlagsAcceptedOnlyInTheirForm(t *testing.T) {
	for _, f := range AllowedProxyFlags {
		for _, arg := range allowedForms(f) {
			if msgs := extraArgsErrors(t, arg); len(msgs) > 0 {
				t.Errorf("%s is refused: %v", arg, msgs)
			}
		}
		for _, arg := range refusedForms(f) {
			if msgs := extraArgsErrors(t, arg); len(msgs) == 0 {
				t.Errorf("%s is accepted", arg)
			}
		}
	}
	if len(AllowedProxyFlags) == 0 {
		t.Fatal("no allowed flags")
	}
	// A value flag without "=" is refused with the form to use.
	for _, f := range AllowedProxyFlags {
		if f.Kind != ProxyFlagBool {
			if joined := strings.Join(extraArgsErrors(t, "-"+f.Name), "\n"); !strings.Contains(joined, "after =") {
				t.Errorf("-%s: the refusal does not say to use =: %s", f.Name, joined)
			}
		}
	}
	// All allowed flags at once, and the list bound.
	var all []string
	for _, f := range AllowedProxyFlags {
		all = append(all, allowedForms(f)[0])
	}
	if msgs := extraArgsErrors(t, all...); len(msgs) > 0 {
		t.Errorf("%v is refused: %v", all, msgs)
	}
	if msgs := extraArgsErrors(t, slices.Repeat([]string{"-proxy-websockets"}, 33)...); len(msgs) == 0 {
		t.Error("33 items are accepted")
	}
}

// What the CRD accepts, oauth-proxy parses: the arguments set only allowed
// flags, each to a value Go's flag package takes, and leave nothing over.
func TestAcceptedArgsParseAsTheReleaseWould(t *testing.T) {
	var args []string
	for _, f := range AllowedProxyFlags {
		args = append(args, allowedForms(f)...)
	}
	checkParses(t, args)

	// Why value flags need "=": Go's flag package takes the next argument
	// as the value, whatever it looks like.
	fs := releaseFlagSet(t)
	if err := fs.Parse([]string{"-footer", "-skip-auth-regex=.*"}); err != nil {
		t.Fatal(err)
	}
	if got := fs.Lookup("footer").Value.String(); got != "-skip-auth-regex=.*" {
		t.Fatalf("-footer took %q", got)
	}
}

func checkParses(t *testing.T, args []string) {
	t.Helper()
	fs := releaseFlagSet(t)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if fs.NArg() != 0 {
		t.Fatalf("%v: arguments left over: %v", args, fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if _, ok := allowed(f.Name); !ok {
			t.Errorf("%v sets -%s", args, f.Name)
		}
	})
	for _, a := range args {
		if _, v, ok := strings.Cut(a, "="); ok && strings.Contains(a, "upstream-") {
			if _, err := time.ParseDuration(v); err != nil {
				t.Errorf("%s: %v", a, err)
			}
		}
	}
}

// Whatever single argument the CRD accepts parses as the release would,
// setting only an allowed flag.
func FuzzExtraArgs(f *testing.F) {
	for _, fl := range AllowedProxyFlags {
		for _, a := range append(allowedForms(fl), refusedForms(fl)...) {
			f.Add(a)
		}
	}
	f.Add("-config=/etc/proxy/htpasswd/htpasswd")
	f.Add("-upstream-timeout=1h1m1s1ms1us1ns")
	f.Fuzz(func(t *testing.T, arg string) {
		if len(extraArgsErrors(t, arg)) > 0 {
			return
		}
		checkParses(t, []string{arg})
	})
}

// The CRD holds exactly the rules derived from the lists: a CRD generated
// before the lists changed would enforce the old ones.
func TestCRDCarriesTheGeneratedRules(t *testing.T) {
	crd := loadCRD(t)
	proxy := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["proxy"]
	extra, ok := proxy.Properties["extraArgs"]
	if !ok || extra.Items == nil || extra.Items.Schema == nil {
		t.Fatal("no spec.proxy.extraArgs items in the CRD")
	}
	items := extra.Items.Schema
	var got []ExtraArgsRule
	for _, r := range items.XValidations {
		got = append(got, ExtraArgsRule{Rule: r.Rule, Message: r.Message})
	}
	if want := ExtraArgsRules(); !slices.Equal(got, want) {
		t.Errorf("the CRD's extraArgs rules are not those of the lists: run make generate manifests\n got: %v\nwant: %v", got, want)
	}
	if extra.MaxItems == nil || *extra.MaxItems != 32 || items.MaxLength == nil || *items.MaxLength != 1024 {
		t.Error("spec.proxy.extraArgs lost its bounds, which bound the rules' cost")
	}
	if len(extra.XValidations) != 0 {
		t.Errorf("rules on the whole list remain: %v", extra.XValidations)
	}
	for _, f := range AllowedProxyFlags {
		if !strings.Contains(extra.Description, "-"+f.Name) {
			t.Errorf("the description of spec.proxy.extraArgs does not mention -%s", f.Name)
		}
	}
}

// The API server checks a CRD's rules, their estimated cost included, when
// the CRD is created; this is the same check.
func TestCRDPassesTheAPIServerChecks(t *testing.T) {
	crd := loadCRD(t)
	internal := &apiextensions.CustomResourceDefinition{}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, internal, nil); err != nil {
		t.Fatal(err)
	}
	// The API server records the storage version before it validates.
	for _, v := range internal.Spec.Versions {
		if v.Storage {
			internal.Status.StoredVersions = append(internal.Status.StoredVersions, v.Name)
		}
	}
	if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), internal); len(errs) > 0 {
		t.Fatal(errors.Join(errs.ToAggregate().Errors()...))
	}
}

// The renderer drops what the allow rule refuses (objects stored before it
// existed): ExtraArgAllowed must agree with the CRD's own CEL on every form
// of every flag of the release.
func TestExtraArgAllowedAgreesWithTheCRD(t *testing.T) {
	var args []string
	for name := range releaseFlags(t) {
		args = append(args, "-"+name, "--"+name, "-"+name+"=x", "-"+name+"=true", "-"+name+"=false", "-"+name+"=2m", "-"+name+"=")
	}
	args = append(args, "upstream=x", "-upstream-timeout=1d", "-proxy-websockets=TRUE")
	for _, arg := range args {
		crd := len(extraArgsErrors(t, arg)) == 0
		if got := ExtraArgAllowed(arg); got != crd {
			t.Errorf("ExtraArgAllowed(%q) = %v, the CRD accepts it: %v", arg, got, crd)
		}
	}
}
