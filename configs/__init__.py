"""The presets (`mocap run --config NAME`): this folder installs as the package mocap.configs."""
