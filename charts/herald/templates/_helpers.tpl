{{/* Names and labels shared by every object of the chart. */}}

{{- define "herald.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object name: the release name, with "-herald" unless it holds it. */}}
{{- define "herald.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "herald.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "herald.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: herald
{{- end }}

{{/* Selector labels of one component: include with (list $ "controller"). */}}
{{- define "herald.selectorLabels" -}}
{{- $root := index . 0 }}
app.kubernetes.io/name: {{ include "herald.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "herald.componentLabels" -}}
{{ include "herald.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "herald.controllerServiceAccount" -}}
{{- if .Values.controller.serviceAccount.create }}
{{- default (printf "%s-controller" (include "herald.fullname" .)) .Values.controller.serviceAccount.name }}
{{- else }}
{{- required "controller.serviceAccount.name is required when controller.serviceAccount.create is false" .Values.controller.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "herald.speakerServiceAccount" -}}
{{- if .Values.speaker.serviceAccount.create }}
{{- default (printf "%s-speaker" (include "herald.fullname" .)) .Values.speaker.serviceAccount.name }}
{{- else }}
{{- required "speaker.serviceAccount.name is required when speaker.serviceAccount.create is false" .Values.speaker.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "herald.webhookConfigurationName" -}}
{{- default (printf "%s-webhook" (include "herald.fullname" .)) .Values.webhook.configurationName }}
{{- end }}

{{- define "herald.webhookSecretName" -}}
{{- default (printf "%s-webhook-cert" (include "herald.fullname" .)) .Values.webhook.secretName }}
{{- end }}

{{- define "herald.webhookServiceName" -}}
{{- printf "%s-webhook" (include "herald.fullname" .) }}
{{- end }}

{{- define "herald.memberlistSecretName" -}}
{{- default (printf "%s-memberlist" (include "herald.fullname" .)) .Values.speaker.memberlist.secret.name }}
{{- end }}

{{/* An image reference: include with (list $ .Values.controller.image). */}}
{{- define "herald.image" -}}
{{- $root := index . 0 }}{{ $img := index . 1 }}
{{- printf "%s:%s" $img.repository (default $root.Chart.AppVersion $img.tag) }}
{{- end }}

{{/*
The rules of the Role or ClusterRole in one of the files that `make chart-sync` copies from
config/rbac, which controller-gen generates from the programs' RBAC markers: the chart grants
what the markers say and nothing else. Include with (list $ "rbac/controller.yaml" "ClusterRole").
*/}}
{{- define "herald.generatedRules" -}}
{{- $root := index . 0 }}{{ $file := index . 1 }}{{ $kind := index . 2 }}
{{- $found := false }}
{{- range $doc := splitList "\n---\n" (printf "\n%s" ($root.Files.Get $file)) }}
{{- $obj := fromYaml $doc }}
{{- if eq (default "" $obj.kind) $kind }}
{{- $found = true }}
{{- toYaml $obj.rules }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "no %s in %s: run `make chart-sync`" $kind $file) }}
{{- end }}
{{- end }}
