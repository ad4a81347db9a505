// Package conditions computes a KialiAuthProxy's status conditions from what
// one reconcile saw, following the table of api/v1alpha1 (Conditions): which
// conditions count toward Ready, in which order, and which status is good
// news. Every status write, the finalizer's included, goes through here.
package conditions

// Problem is a mistake the user can fix: a bad reference, an ignored
// setting, objects in the way. Problems make up the Degraded condition.
// Messages name the object and the fix, and never contain a secret's value.
type Problem struct {
	Reason  string
	Message string
}
