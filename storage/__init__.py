"""Records and the rules that change them. Imports neither `bot` nor `mail` nor `telegram`."""
