# A FROM scratch image holding one tool: `make image TOOL=<tool>` stages build/image/rootfs (the binary
# as /app plus the five glibc files it needs) and then runs
#   docker build --build-arg TOOL=<tool> .
# No base image is pulled, so this builds where no container registry is reachable.
FROM scratch
ARG TOOL=process-account-events
COPY build/image-${TOOL}/rootfs/ /
USER 65534:65534
ENTRYPOINT ["/app"]
CMD ["--help"]
