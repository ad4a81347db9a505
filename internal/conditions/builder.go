package conditions

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// Builder makes the conditions of one generation of a KialiAuthProxy.
type Builder struct {
	generation int64
}

// For returns the builder of kap's current generation.
func For(kap *meshv1alpha1.KialiAuthProxy) Builder {
	return Builder{generation: kap.Generation}
}

// Is is a condition whose status is True when status is.
func (b Builder) Is(t string, status bool, reason, message string) metav1.Condition {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: message, ObservedGeneration: b.generation}
}

// True is a condition of status True.
func (b Builder) True(t, reason, message string) metav1.Condition {
	return b.Is(t, true, reason, message)
}

// False is a condition of status False.
func (b Builder) False(t, reason, message string) metav1.Condition {
	return b.Is(t, false, reason, message)
}
