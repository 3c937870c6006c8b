"""Device data (issue 23): mappings turn MQTT / Sparkplug B / test-bench messages into machine states, part counts and process values, exactly once, with threshold alarms (docs/devices.md)."""
