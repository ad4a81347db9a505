package conditions

import (
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// Degraded is the Degraded condition of the problems found: the first one
// names the reason, every one is in the message.
func (b Builder) Degraded(problems []Problem) metav1.Condition {
	if len(problems) == 0 {
		return b.False(meshv1alpha1.ConditionDegraded, meshv1alpha1.ReasonReferencesValid, "Every referenced Secret exists and is usable")
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Message
	}
	return b.True(meshv1alpha1.ConditionDegraded, problems[0].Reason, strings.Join(msgs, "; "))
}

// Ready is the Ready condition over conds: not ready for the reason of the
// lowest-ranked condition (meshv1alpha1.Conditions) that is not good, other
// than as the spec intends; ready, with message, otherwise.
func (b Builder) Ready(conds []metav1.Condition, message string) metav1.Condition {
	ranked := make([]metav1.Condition, 0, len(conds))
	for _, c := range conds {
		if s, ok := meshv1alpha1.ConditionSpecOf(c.Type); ok && s.ReadyRank > 0 {
			ranked = append(ranked, c)
		}
	}
	sort.SliceStable(ranked, func(i, j int) bool { return rank(ranked[i]) < rank(ranked[j]) })
	for _, c := range ranked {
		s, _ := meshv1alpha1.ConditionSpecOf(c.Type)
		if !s.IsGood(c) && !slices.Contains(s.NotReadyAsIntended, c.Reason) {
			return b.False(meshv1alpha1.ConditionReady, c.Reason, c.Type+": "+c.Message)
		}
	}
	return b.True(meshv1alpha1.ConditionReady, meshv1alpha1.ReasonReady, message)
}

func rank(c metav1.Condition) int {
	s, _ := meshv1alpha1.ConditionSpecOf(c.Type)
	return s.ReadyRank
}

// News says whether c is worth an event against the conditions before,
// and whether it is good news. A condition whose status and reason did not
// change is no news; neither is a new condition that is good, or one whose
// first status is progress (meshv1alpha1.ConditionSpec.IsProgressAtFirst).
func News(before []metav1.Condition, c metav1.Condition) (news, good bool) {
	s, _ := meshv1alpha1.ConditionSpecOf(c.Type)
	good = s.IsGood(c)
	old := meta.FindStatusCondition(before, c.Type)
	if old != nil && old.Status == c.Status && old.Reason == c.Reason {
		return false, good
	}
	if old == nil && (good || s.IsProgressAtFirst(c)) {
		return false, good
	}
	return true, good
}

// Status is the status to write: the conditions computed (a type no longer
// reported goes away), a condition whose status did not change keeping its
// transition time from before.
func Status(kap *meshv1alpha1.KialiAuthProxy, url string, conds []metav1.Condition, clusters []meshv1alpha1.ClusterStatus) meshv1alpha1.KialiAuthProxyStatus {
	st := meshv1alpha1.KialiAuthProxyStatus{ObservedGeneration: kap.Generation, URL: url, Clusters: clusters}
	for _, c := range conds {
		if old := meta.FindStatusCondition(kap.Status.Conditions, c.Type); old != nil && old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		meta.SetStatusCondition(&st.Conditions, c)
	}
	return st
}

// Replace returns conds with c in place of the condition of its type.
func Replace(conds []metav1.Condition, c metav1.Condition) []metav1.Condition {
	out := slices.Clone(conds)
	meta.SetStatusCondition(&out, c)
	return out
}
