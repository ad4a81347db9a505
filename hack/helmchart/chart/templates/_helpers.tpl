{{/*
The manager's image: the tag defaults to the chart's appVersion, the
operator release the chart was made for.
*/}}
{{- define "kiali-auth-proxy-operator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
Refuses values that would install a broken operator, before anything is
applied.
*/}}
{{- define "kiali-auth-proxy-operator.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection) }}
{{- fail "replicas above 1 need leaderElection: two managers without it would both reconcile" }}
{{- end }}
{{- end }}
