// Package foresight is the Foresight kube-scheduler plugin: it checks each
// pod's foresight.dev/ annotations against its namespace's TenantPolicy,
// keeps pods off pools their class may not use, and scores nodes by the cost
// and utilisation of the pool capacity a placement uses.
package foresight
