# mocap in a container: a camera passed in, the WebSocket stream and the viewer on port 8765.
# Not built on the development machine (no Docker engine there); see README, Docker.
#
#   docker build -t mocap .
#   docker run --rm --device /dev/video0 --group-add "$(getent group video | cut -d: -f3)" \
#     -p 127.0.0.1:8765:8765 -e MOCAP_TOKEN mocap
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

# OpenCV (a dependency of mediapipe) loads libGL and GLib at import, even with no window.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

# The runtime dependencies only (no test tools); the models are inside the mediapipe wheel.
COPY pyproject.toml README.md /tmp/mocap/
COPY mocap /tmp/mocap/mocap
COPY configs /tmp/mocap/configs
RUN pip install /tmp/mocap && rm -rf /tmp/mocap

# Not root: this process serves the network. The video group lets it open the camera device
# passed in with --device.
RUN useradd --create-home --uid 10001 --groups video mocap
USER mocap
WORKDIR /home/mocap
# Compile the rotation filter's step now (numba; about a second), not at every start: the package
# folder is root's, so numba keeps the machine code in this user's ~/.cache/numba. For a generic
# x86-64 or arm64 CPU, so that the cache holds on whatever machine runs the image (numba keys its
# cache on the CPU it compiled for).
ENV NUMBA_CPU_NAME=generic
RUN python -c "import mocap.solve.filter_step"

EXPOSE 8765
# Binding 0.0.0.0 (so that Docker's port forwarding reaches the server) requires a token:
# pass it with -e MOCAP_TOKEN.
ENTRYPOINT ["mocap", "run", "--no-preview"]
CMD ["--camera", "/dev/video0", "--ws", "0.0.0.0:8765"]
