"""CDRs: importing call records and reporting on them. importer (the import, the bulk writer, the
parent side of the parsing child; it names the others' public names too), child (the parser the
child process runs and its message framing; light to import), pricing (rating rows that came
without money, light to import too), results (what an import reports), reports (the CDR report),
rerate (re-rating a period with the current cards).
"""
