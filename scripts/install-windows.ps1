#Requires -Version 5.1
<#
.SYNOPSIS
Installs onedrive-agent as a Windows service. Safe to run again, e.g. to
upgrade the binary: the configuration and the data are kept, the service is
registered anew, and a service that was running is started again.

.DESCRIPTION
  onedrive-agent.exe check -c %ProgramData%\onedrive-agent\agent.toml
                                                     if the file exists; nothing is
                                                     changed when it fails
  %ProgramFiles%\onedrive-agent\onedrive-agent.exe   the binary
  %ProgramData%\onedrive-agent\                      configuration and data; only
                                                     SYSTEM and Administrators may open it
  %ProgramData%\onedrive-agent\agent.toml            a minimal configuration, only if absent
  %ProgramData%\onedrive-agent\agent.toml.example    every key, when the release has the file
  onedrive-agent.exe install -c %ProgramData%\onedrive-agent\agent.toml

The service starts automatically (delayed) at boot and is restarted 5 s after
a failure. It runs as LocalSystem.

.PARAMETER Binary
Path of onedrive-agent.exe. Default: next to this script, one folder up, or in
the current directory.

.EXAMPLE
powershell -ExecutionPolicy Bypass -File .\install-windows.ps1 -Binary .\onedrive-agent.exe
#>
[CmdletBinding()]
param(
    [string]$Binary
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Name = 'onedrive-agent'
$InstallDir = Join-Path $env:ProgramFiles $Name
$Exe = Join-Path $InstallDir "$Name.exe"
$DataDir = Join-Path $env:ProgramData $Name
$Config = Join-Path $DataDir 'agent.toml'

function Say([string]$Message) { Write-Host $Message }

# Runs onedrive-agent.exe and fails when it does (native programs do not
# raise PowerShell errors).
function Invoke-Agent([string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "$Exe $($Arguments -join ' ') failed (exit status $LASTEXITCODE)"
    }
}

# Makes Administrators the owner of Path (and, for a folder, of everything in
# it: a folder another user created first would otherwise stay theirs, and
# the agent refuses it), then gives SYSTEM and Administrators full control
# and nobody else any access (well-known SIDs, so that it works in every
# Windows language). The agent checks the same at every start.
function Set-RestrictedAcl([string]$Path, [switch]$Container) {
    $recurse = if ($Container) { @('/T', '/C') } else { @() }
    & icacls.exe $Path /setowner '*S-1-5-32-544' @recurse | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "icacls $Path /setowner failed (exit status $LASTEXITCODE)" }
    $grant = if ($Container) { '(OI)(CI)F' } else { 'F' }
    & icacls.exe $Path /inheritance:r /grant:r "*S-1-5-18:$grant" "*S-1-5-32-544:$grant" | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "icacls $Path failed (exit status $LASTEXITCODE)" }
}

$principal = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'Run this script from an elevated PowerShell (Run as Administrator).'
}

# The binary to install.
if (-not $Binary) {
    $candidates = @(
        (Join-Path $PSScriptRoot "$Name.exe"),
        (Join-Path (Split-Path -Parent $PSScriptRoot) "$Name.exe"),
        (Join-Path (Get-Location).Path "$Name.exe")
    )
    foreach ($c in $candidates) {
        if (Test-Path -LiteralPath $c -PathType Leaf) { $Binary = $c; break }
    }
}
if (-not $Binary) {
    throw "No $Name.exe found next to the script or in the current directory; pass its path with -Binary."
}
if (-not (Test-Path -LiteralPath $Binary -PathType Leaf)) { throw "$Binary does not exist." }
$Binary = (Resolve-Path -LiteralPath $Binary).Path
try {
    $version = & $Binary version
} catch {
    throw "$Binary does not run on this machine (another CPU architecture?): $_"
}
if ($LASTEXITCODE -ne 0) { throw "$Binary version failed (exit status $LASTEXITCODE)." }

# An existing configuration must suit the new binary before anything is
# touched: `install` refuses a configuration the service could not start with.
if (Test-Path -LiteralPath $Config) {
    & $Binary check -c $Config | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw "$Config is not valid for $version (see above); fix it and run this script again. Nothing was changed."
    }
    Say "checked $Config"
}

# Stop a running service: its executable cannot be replaced while it runs.
$service = Get-Service -Name $Name -ErrorAction SilentlyContinue
$wasRunning = $false
if ($service) {
    if ($service.Status -ne 'Stopped') {
        $wasRunning = $true
        Stop-Service -Name $Name
        $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(45))
        Say "stopped the running $Name service"
    }
}

# Binary.
if (-not (Test-Path -LiteralPath $InstallDir)) {
    New-Item -ItemType Directory -Path $InstallDir | Out-Null
    Say "created $InstallDir"
}
if ($Binary -ieq $Exe) {
    Say "kept $Exe ($version): it is the binary being installed"
} else {
    Copy-Item -LiteralPath $Binary -Destination $Exe -Force
    Say "installed $Exe ($version)"
}

# Configuration and data directory: client secrets, tokens, the database.
if (-not (Test-Path -LiteralPath $DataDir)) {
    New-Item -ItemType Directory -Path $DataDir | Out-Null
    Say "created $DataDir"
}
Set-RestrictedAcl -Path $DataDir -Container
Say "restricted $DataDir to SYSTEM and Administrators"

$example = $null
foreach ($c in @((Join-Path $PSScriptRoot 'agent.toml.example'),
                 (Join-Path (Split-Path -Parent $PSScriptRoot) 'agent.toml.example'),
                 (Join-Path (Get-Location).Path 'agent.toml.example'))) {
    if (Test-Path -LiteralPath $c -PathType Leaf) { $example = $c; break }
}
if ($example) {
    Copy-Item -LiteralPath $example -Destination "$Config.example" -Force
    Say "installed $Config.example (every key, with its default)"
}
if (Test-Path -LiteralPath $Config) {
    Say "kept the existing $Config"
} else {
    # Minimal but valid, so that the service can be installed now; the full
    # example references secrets in variables not set yet. A TOML literal
    # string keeps the backslashes of the Windows path.
    $text = @"
# onedrive-agent configuration. Every key and its default: agent.toml.example
# beside this file or in the release archive. Secrets may come from the
# environment as `${NAME} (a service sees only system environment variables)
# or from files (<key>_file = 'path').
data_dir = '$DataDir'

[[instance]]
name = "example"

[instance.auth]
client_id = "REPLACE-with-the-application-client-id"

[instance.callback]
url = "https://REPLACE-with-your-receiver.example/onedrive"
"@
    # UTF-8 without a byte order mark (Windows PowerShell's Set-Content adds one).
    [IO.File]::WriteAllText($Config, ($text -replace "`r?`n", "`r`n"), (New-Object Text.UTF8Encoding($false)))
    Set-RestrictedAcl -Path $Config
    Say "created $Config, a minimal configuration: edit it before starting the service"
}

# Service registration: renewed so that it matches this version.
if ($service) {
    Invoke-Agent @('uninstall')
    Say "removed the old $Name service registration"
}
Invoke-Agent @('install', '-c', $Config)
Say "installed the $Name service (runs: `"$Exe`" run -c `"$Config`")"

if ($wasRunning) {
    Start-Service -Name $Name
    Say "started $Name again"
    return
}

Say ''
Say 'Next steps:'
Say "  1. Edit $Config (client_id, callback url, ...)."
Say "  2. Check it:   & '$Exe' check -c '$Config'"
Say "  3. Sign in:    & '$Exe' login -c '$Config' INSTANCE"
Say "  4. Start it:   Start-Service $Name    (or: & '$Exe' start)"
Say "     Logs:       Event Viewer > Windows Logs > Application, source $Name"
