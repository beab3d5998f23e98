"""Pure encoders: one function per wire format, PoseFrame in, bytes or str out. No I/O."""
