"""GTP, the protocol of Go programs: a client for external engines (GNU Go, KataGo) and our agent
as an engine for GUIs (Sabaki, GoGui) and match runners (twogtp)."""
