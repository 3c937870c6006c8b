var a=(e,r)=>{const t=e.__vccOpts||e;for(const[_,o]of r)t[_]=o;return t};export{a as _};
