-- Argo CD health check for mesh.kialiauth.io/KialiAuthProxy.
--
-- Healthy once the operator has observed the current generation and reports
-- Ready; Degraded for a bad reference or something only a person can fix
-- (a missing CRD, a failed apply); Progressing while the proxy rolls out or
-- the operator has not caught up with the spec yet.
local hs = {}
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report a status"
  return hs
end
if obj.metadata ~= nil and obj.metadata.generation ~= nil and obj.status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. obj.metadata.generation
  return hs
end

local ready = nil
local degraded = nil
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    ready = condition
  elseif condition.type == "Degraded" then
    degraded = condition
  end
end

if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = degraded.message
  return hs
end
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
local needsAction = {
  KialiCRDMissing = true,
  IstioCRDMissing = true,
  RouteCRDMissing = true,
  IstioSecurityCRDMissing = true,
  ApplyFailed = true,
}
if needsAction[ready.reason] then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = ready.message
return hs
