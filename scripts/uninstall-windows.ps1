#Requires -Version 5.1
<#
.SYNOPSIS
Removes the onedrive-agent service and binary from Windows. Safe to run again.

.DESCRIPTION
Stops and removes the service (and its Event Log source) and deletes
%ProgramFiles%\onedrive-agent. The configuration and the data in
%ProgramData%\onedrive-agent (database with queued events and tokens, admin
token) are kept unless -Purge is given; events still queued are lost with
-Purge.

.PARAMETER Purge
Also delete %ProgramData%\onedrive-agent.

.EXAMPLE
powershell -ExecutionPolicy Bypass -File .\uninstall-windows.ps1
#>
[CmdletBinding()]
param(
    [switch]$Purge
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Name = 'onedrive-agent'
$InstallDir = Join-Path $env:ProgramFiles $Name
$Exe = Join-Path $InstallDir "$Name.exe"
$DataDir = Join-Path $env:ProgramData $Name

function Say([string]$Message) { Write-Host $Message }

# Deletes Path, retrying while a just-stopped process still holds a file.
function Remove-Tree([string]$Path) {
    for ($i = 1; ; $i++) {
        try {
            Remove-Item -LiteralPath $Path -Recurse -Force
            return
        } catch {
            if ($i -ge 10) { throw }
            Start-Sleep -Seconds 1
        }
    }
}

$principal = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'Run this script from an elevated PowerShell (Run as Administrator).'
}

$service = Get-Service -Name $Name -ErrorAction SilentlyContinue
if (-not $service) {
    Say "the $Name service is not installed"
} else {
    $removed = $false
    if (Test-Path -LiteralPath $Exe -PathType Leaf) {
        # The agent stops the service, then removes it and its Event Log source.
        & $Exe uninstall
        $removed = ($LASTEXITCODE -eq 0)
        if ($removed) { Say "stopped and removed the $Name service" }
    }
    if (-not $removed) {
        # No working binary: do by hand what `onedrive-agent uninstall` does.
        $service.Refresh()
        if ($service.Status -ne 'Stopped') {
            Stop-Service -Name $Name
            $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(45))
            Say "stopped the $Name service"
        }
        & sc.exe delete $Name | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "sc.exe delete $Name failed (exit status $LASTEXITCODE)" }
        $source = "HKLM:\SYSTEM\CurrentControlSet\Services\EventLog\Application\$Name"
        if (Test-Path -LiteralPath $source) { Remove-Item -LiteralPath $source -Recurse -Force }
        Say "removed the $Name service and its Event Log source"
    }
}

if (Test-Path -LiteralPath $InstallDir) {
    Remove-Tree $InstallDir
    Say "removed $InstallDir"
} else {
    Say "$InstallDir is already gone"
}

if ($Purge) {
    if (Test-Path -LiteralPath $DataDir) {
        Remove-Tree $DataDir
        Say "removed $DataDir"
    }
} elseif (Test-Path -LiteralPath $DataDir) {
    Say "kept $DataDir (remove it with -Purge)"
}
