#!/usr/bin/env zsh -f
# Drives zsh's real completion system in an interactive zsh on a pseudo-terminal (zsh/zpty) and
# prints what it offers. $1: a folder holding the completion function file (put first in $fpath,
# loaded by compinit); $2: the folder to complete in; $3: "source" to source that file after
# compinit instead (as `source <(clarifai-audit completion zsh)` does). Each line of stdin is a command line to
# complete at its end; for each, the output holds a line "<<case>>" then one candidate per line.
# The candidates are what the completion functions hand to compadd (as zsh would list them), caught
# by wrapping compadd: the approach of zsh-capture-completion (github.com/Valodim/zsh-capture-completion).
zmodload zsh/zpty || exit 2
fdir=$1 cwd=$2 mode=$3
zpty z zsh -f -i
setup=$(mktemp)
cat > $setup <<SETUP
PROMPT= RPROMPT=
unsetopt zle_bracketed_paste auto_list auto_menu list_ambiguous 2>/dev/null
[[ ${(q)mode} == source ]] || fpath=(${(q)fdir} \$fpath)
autoload -U compinit && compinit -u -D
[[ ${(q)mode} == source ]] && source ${(q)fdir}/_clarifai-audit
cd ${(q)cwd}
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
zstyle ':completion:*' list-separator ''
zmodload zsh/zutil
compadd() {
  # A call that only asks for matches (-O, -A, -D) is the completion system's own business.
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "\$@"
    return
  fi
  local -a __hits
  builtin compadd -A __hits "\$@"
  local hit
  for hit in \$__hits; do print -r -- "<<hit>>\$hit"; done
  # Added too, so that the completion system goes on as it would (a tag that added nothing is
  # followed by the next, e.g. all files after no folders).
  builtin compadd "\$@"
}
capture() {
  print -r -- '<<begin>>'
  zle complete-word
  print -r -- '<<end>>'
  BUFFER=
}
zle -N capture
bindkey '^I' capture
print -r -- '<<ready>>'
SETUP
zpty -w z "source ${(q)setup}"
local line
while zpty -r z line; do [[ $line == '<<ready>>'* ]] && break; done
while IFS= read -r cmdline; do
  print -r -- '<<case>>'
  zpty -w -n z "$cmdline"$'\t'
  while zpty -r z line; do
    line=${line%$'\r\n'}; line=${line%$'\n'}; line=${line%$'\r'}
    [[ $line == *'<<end>>'* ]] && break
    [[ $line == *'<<hit>>'* ]] && print -r -- "${line#*<<hit>>}"
  done
done
rm -f $setup
zpty -d z
