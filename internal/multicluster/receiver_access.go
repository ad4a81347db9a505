package multicluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// The hub Prometheus is written with the operator's own identity, which
// may patch every Prometheus of the cluster; a KialiAuthProxy is written by
// whoever may edit its namespace. So a KialiAuthProxy gets writes only on a
// Prometheus of its own namespace, or on one whose owner names its
// namespace in meshv1alpha1.AllowedNamespacesAnnotation. It is the only
// object outside the KialiAuthProxy's namespace that the operator writes
// with its own identity: other clusters are written with the kubeconfig
// the spec names.

// allowedNamespaces parses the annotation's value: namespace names
// separated by commas, blanks around them ignored.
func allowedNamespaces(value string) []string {
	var out []string
	for _, ns := range strings.Split(value, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

// receiverAllowed says whether a KialiAuthProxy in namespace ns may have
// the operator write on the Prometheus ref, which carries annotations.
// "*" is no wildcard: it matches no namespace.
func receiverAllowed(ns string, ref meshv1alpha1.ObjectReference, annotations map[string]string) bool {
	if ref.Namespace == ns {
		return true
	}
	return slices.Contains(allowedNamespaces(annotations[meshv1alpha1.AllowedNamespacesAnnotation]), ns)
}

// notAllowedError refuses a write on a Prometheus of another namespace.
// It does not say whether that Prometheus exists or how it is set: the
// editors of one namespace learn nothing of another's.
type notAllowedError struct {
	namespace string
	ref       meshv1alpha1.ObjectReference
	// wildcard: the annotation holds "*", which is not accepted.
	wildcard bool
	// forbidden: the operator's own RBAC does not reach that namespace, as
	// in an install that watches other namespaces only.
	forbidden bool
}

func (e *notAllowedError) Error() string {
	if e.forbidden {
		return fmt.Sprintf("the operator may not read or write Prometheus %s/%s (spec.metrics.receiver.prometheus): it is installed for other namespaces than %s only, "+
			"and wrote nothing to it. Add %s to the namespaces the operator watches (under OLM, the OperatorGroup's target namespaces), "+
			"or receive with a Prometheus in %s, or unset spec.metrics.receiver.prometheus once the receiver is on",
			e.ref.Namespace, e.ref.Name, e.ref.Namespace, e.ref.Namespace, e.namespace)
	}
	msg := fmt.Sprintf("Prometheus %s/%s (spec.metrics.receiver.prometheus) is not in namespace %s, and it does not exist or does not allow %s: "+
		"the operator wrote nothing to it. Its owner can allow it with the annotation %s=%s (a comma-separated list of namespaces)",
		e.ref.Namespace, e.ref.Name, e.namespace, e.namespace, meshv1alpha1.AllowedNamespacesAnnotation, e.namespace)
	if e.wildcard {
		msg += `; "*" is not accepted there, name each namespace`
	}
	return msg + fmt.Sprintf(", or receive with a Prometheus in %s, or unset spec.metrics.receiver.prometheus once the receiver is on", e.namespace)
}

// receiverRefused says whether err is a refusal to write the hub Prometheus.
func receiverRefused(err error) bool {
	var refused *notAllowedError
	return errors.As(err, &refused)
}
