#!/bin/sh
# The "build" of the example project: writes a small artifact.
set -eu
name=$1
echo "$name built by job $CI_JOB_NAME ($CI_JOB_ID) on $(uname -s)"
