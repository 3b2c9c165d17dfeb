#!/bin/sh
# python-tools.sh VENV: makes moto_server, cfn-lint and the AWS SAM translator (samtranslator)
# available to the tests. Those already on PATH (and importable by python3) are used as they
# are; otherwise all three are installed, at the versions in scripts/python-tools.txt, into the
# virtual environment VENV, whose bin/ the Makefile puts first on PATH. A venv, because a stock
# Debian or Ubuntu Python refuses `pip install` outside one (PEP 668, externally managed).
# PIP_INSTALL_FLAGS adds pip options: a mirror, or --no-index --find-links DIR offline.
set -eu

venv=${1:?usage: python-tools.sh VENV}
here=$(cd "$(dirname "$0")" && pwd)

present() {
	command -v moto_server >/dev/null 2>&1 &&
		command -v cfn-lint >/dev/null 2>&1 &&
		python3 -c 'import samtranslator, cfnlint' >/dev/null 2>&1
}

# pyenv's shims are shell scripts that look up the Python version each time they run, half a
# second of CPU per moto_server start (the tests start a few dozen): when moto_server is one,
# the executable it stands for is linked into $bin, which the Makefile puts on PATH after the
# venv and before the rest; the link is made again at each run, so it follows pyenv's choice.
bin=$(dirname "$venv")/bin
unshim() {
	rm -f "$bin/moto_server"
	hash -r 2>/dev/null || true # forget where moto_server was found before
	case $(command -v moto_server) in
	*/shims/moto_server)
		real=$(pyenv which moto_server 2>/dev/null) && [ -x "$real" ] || return 0
		mkdir -p "$bin" && ln -s "$real" "$bin/moto_server"
		hash -r 2>/dev/null || true
		;;
	esac
}

report() {
	moto=$(command -v moto_server)
	if [ "$moto" = "$bin/moto_server" ]; then
		moto="$moto -> $(readlink "$moto") (what the pyenv shim runs)"
	fi
	echo "tools: moto_server   $moto"
	echo "tools: cfn-lint      $(command -v cfn-lint)"
	echo "tools: samtranslator $(python3 -c 'import os, samtranslator; print(os.path.dirname(samtranslator.__file__))') ($(command -v python3))"
}

unshim
if present; then
	report
	exit 0
fi

command -v python3 >/dev/null 2>&1 || {
	echo "tools: python3 is not on PATH; install Python 3 with its venv module (Debian/Ubuntu: sudo apt-get install python3 python3-venv)" >&2
	exit 1
}
echo "tools: moto_server, cfn-lint or samtranslator is missing; installing them into $venv"
echo "tools: (the first time this downloads about 100 MB and takes a minute or two)"
if [ ! -x "$venv/bin/python3" ]; then
	python3 -m venv "$venv" || {
		echo "tools: could not create the virtual environment $venv; install Python 3's venv module (Debian/Ubuntu: sudo apt-get install python3-venv)" >&2
		rm -rf "$venv"
		exit 1
	}
fi
# shellcheck disable=SC2086 # PIP_INSTALL_FLAGS is a list of options
"$venv/bin/python3" -m pip install --disable-pip-version-check ${PIP_INSTALL_FLAGS:-} -r "$here/python-tools.txt"

# The Makefile has $venv/bin first on PATH, so the tools resolve from it now (once the shell
# forgets where it found python3 before).
hash -r 2>/dev/null || true
if ! present; then
	echo "tools: installed into $venv, but moto_server, cfn-lint or samtranslator still cannot be found; is $venv/bin first on PATH?" >&2
	exit 1
fi
report
